;;; bg.lsp -- BG：插入标高符号并自动标注高程值
;;; 用法：加载后输入 BG。先指定基准点及其标高（回车则以 Y=0 处为 ±0.000），
;;; 再输入“每米图形单位数”（毫米图为 1000）和文字高度，然后逐个点取要标标高的位置，
;;; 回车结束。标高 = 基准标高 + (点的 Y − 基准点 Y) / 每米单位数，保留 3 位小数；
;;; 符号为倒三角加引出横线，数值写在横线上方。

(defun bg-format (value)
  ;; 标高文字：零写作 ±0.000，正数不带 + 号，负数带 - 号。
  (if (equal value 0.0 0.0005)
    "%%p0.000"
    (rtos value 2 3)
  )
)

(defun c:BG (/ base baseelev baseY unit height size pt w elev str count)
  (if (setq base (getpoint "\n指定基准点 <以 Y=0 处为 ±0.000>: "))
    (progn
      (setq baseY (cadr (trans base 1 0)))
      (setq baseelev (getreal "\n基准点的标高 <0.000>: "))
      (if (not baseelev) (setq baseelev 0.0))
    )
    (setq baseY    0.0
          baseelev 0.0
    )
  )
  (initget 6)
  (setq unit (getreal "\n每米图形单位数（毫米图为 1000）<1000>: "))
  (if (not unit) (setq unit 1000.0))
  (initget 6)
  (setq height (getdist (strcat "\n文字高度 <" (rtos (getvar "TEXTSIZE") 2 2) ">: ")))
  (if (not height) (setq height (getvar "TEXTSIZE")))
  (setq size  height
        count 0
  )
  (while (setq pt (getpoint "\n点取标高位置 <结束>: "))
    (setq w    (trans pt 1 0)
          elev (+ baseelev (/ (- (cadr w) baseY) unit))
          str  (bg-format elev)
    )
    ;; 倒三角（尖端在点取处）+ 向右的引出横线，一条多段线画成
    (entmake (list '(0 . "LWPOLYLINE")
                   '(100 . "AcDbEntity")
                   '(100 . "AcDbPolyline")
                   '(90 . 4)
                   '(70 . 0)
                   (cons 38 (caddr w))
                   (list 10 (+ (car w) size) (+ (cadr w) size))
                   (list 10 (car w) (cadr w))
                   (list 10 (- (car w) size) (+ (cadr w) size))
                   (list 10 (+ (car w) (* 0.4 size) (car (cadr (textbox (list (cons 1 str) (cons 40 height))))))
                         (+ (cadr w) size)
                   )
             )
    )
    (entmake (list '(0 . "TEXT")
                   (list 10 (+ (car w) (* 0.2 size)) (+ (cadr w) size (* 0.3 height)) (caddr w))
                   (cons 40 height)
                   (cons 1 str)
                   (cons 7 (getvar "TEXTSTYLE"))
             )
    )
    (setq count (1+ count))
  )
  (princ (strcat "\n共标注 " (itoa count) " 个标高。"))
  (princ)
)

(princ "\nBG 已加载：输入 BG 标注标高。")
(princ)
