;;; txtadd.lsp -- TXTADD：把所选文字中的数字统一加上（或减去）一个值
;;; 用法：加载后输入 TXTADD，输入要加的值（减用负数，如 -0.3），选择文字。
;;; 每个文字只改其中第一个数字，保留原有小数位数和前后文字（如 "3.600" 加 0.3 → "3.900"，
;;; "+3.600m" → "+3.900m"）。带格式代码的多行文字会被跳过并提示。

(vl-load-com)

(defun txtadd-find-number (str / i len start dot)
  ;; STR 中第一个数字：返回 (起始位置 长度 数值 小数位数)，没有数字时返回 nil。
  (setq i   1
        len (strlen str)
  )
  (while (and (<= i len) (not (wcmatch (substr str i 1) "#")))
    (setq i (1+ i))
  )
  (if (<= i len)
    (progn
      (setq start i)
      (while (and (<= i len)
                  (or (wcmatch (substr str i 1) "#")
                      (and (not dot)
                           (= (substr str i 1) ".")
                           (< i len)
                           (wcmatch (substr str (1+ i) 1) "#")
                      )
                  )
             )
        (if (= (substr str i 1) ".") (setq dot i))
        (setq i (1+ i))
      )
      (if (and (> start 1) (= (substr str (1- start) 1) "-"))
        (setq start (1- start))
      )
      (list start (- i start) (atof (substr str start (- i start))) (if dot (- i dot 1) 0))
    )
  )
)

(defun c:TXTADD (/ *error* doc delta ss i n obj str found changed skipped)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (initget 1)
  (setq delta (getreal "\n要加的值（减用负数）: "))
  (princ "\n选择要修改的文字：")
  (if (setq ss (ssget "_:L" '((0 . "TEXT,MTEXT"))))
    (progn
      (vla-StartUndoMark doc)
      (setq changed 0
            skipped 0
            n       (sslength ss)
            i       0
      )
      (while (< i n)
        (setq obj (vlax-ename->vla-object (ssname ss i))
              str (vla-get-TextString obj)
        )
        (cond
          ((and (= (vla-get-ObjectName obj) "AcDbMText") (vl-string-search "\\" str))
           (setq skipped (1+ skipped))
          )
          ((setq found (txtadd-find-number str))
           (vla-put-TextString
             obj
             (strcat (substr str 1 (1- (car found)))
                     (rtos (+ (caddr found) delta) 2 (cadddr found))
                     (substr str (+ (car found) (cadr found)))
             )
           )
           (setq changed (1+ changed))
          )
        )
        (setq i (1+ i))
      )
      (vla-EndUndoMark doc)
      (princ (strcat "\n修改了 " (itoa changed) " 个文字。"))
      (if (> skipped 0)
        (princ (strcat "\n跳过 " (itoa skipped) " 个带格式代码的多行文字。"))
      )
    )
    (princ "\n没有选择文字。")
  )
  (princ)
)

(princ "\nTXTADD 已加载：输入 TXTADD 对文字中的数字批量加减。")
(princ)
