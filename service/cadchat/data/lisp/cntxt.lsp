;;; cntxt.lsp -- CNTXT：复制文字，复制出的文字中的数字自动递增
;;; 用法：加载后输入 CNTXT，选择一个含数字的单行或多行文字，输入增量（可为小数或负数），
;;; 指定基点，再连续指定目标点；每复制一次，文字中的第一个数字加一次增量，
;;; 小数位数保持不变（如 1-01 → 1-02 时请用增量 1，结果写作 1-2；需要补零时用前缀文字）。

(vl-load-com)

(defun cntxt-find-number (str / i len start dot)
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

(defun cntxt-add (str delta / found)
  ;; STR 的第一个数字加上 DELTA 后的新字符串；没有数字时原样返回。
  (if (setq found (cntxt-find-number str))
    (strcat (substr str 1 (1- (car found)))
            (rtos (+ (caddr found) delta) 2 (cadddr found))
            (substr str (+ (car found) (cadr found)))
    )
    str
  )
)

(defun c:CNTXT (/ *error* doc sel obj text step base dest copy count)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (setq sel (entsel "\n选择要复制的文字: "))
  (cond
    ((not sel) (princ "\n没有选择文字。"))
    ((not (wcmatch (cdr (assoc 0 (entget (car sel)))) "TEXT,MTEXT"))
     (princ "\n所选对象不是文字。")
    )
    ((not (cntxt-find-number (vla-get-TextString (vlax-ename->vla-object (car sel)))))
     (princ "\n所选文字中没有数字。")
    )
    (T
     (setq obj  (vlax-ename->vla-object (car sel))
           text (vla-get-TextString obj)
     )
     (setq step (getreal "\n增量 <1>: "))
     (if (not step) (setq step 1.0))
     (if (setq base (getpoint "\n指定基点: "))
       (progn
         (vla-StartUndoMark doc)
         (setq count 0)
         (while (setq dest (getpoint base "\n指定第二个点 <结束>: "))
           (setq copy (vla-Copy obj)
                 text (cntxt-add text step)
           )
           (vla-Move copy (vlax-3d-point (trans base 1 0)) (vlax-3d-point (trans dest 1 0)))
           (vla-put-TextString copy text)
           (setq obj   copy
                 base  dest
                 count (1+ count)
           )
         )
         (vla-EndUndoMark doc)
         (princ (strcat "\n共复制 " (itoa count) " 个文字。"))
       )
     )
    )
  )
  (princ)
)

(princ "\nCNTXT 已加载：输入 CNTXT 复制文字并让数字递增。")
(princ)
