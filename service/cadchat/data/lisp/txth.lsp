;;; txth.lsp -- TXTH：把所选文字统一为指定高度
;;; 用法：加载后输入 TXTH，选择单行或多行文字，输入新的字高（默认取第一个文字的高度）。
;;; 文字的插入点和对正方式不变。

(vl-load-com)

(defun c:TXTH (/ *error* doc ss i n height)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (princ "\n选择要统一字高的文字：")
  (if (setq ss (ssget "_:L" '((0 . "TEXT,MTEXT"))))
    (progn
      (setq height (cdr (assoc 40 (entget (ssname ss 0)))))
      (initget 6)
      (setq height (cond ((getdist (strcat "\n新的文字高度 <" (rtos height 2 2) ">: ")))
                         (height)
                   )
      )
      (vla-StartUndoMark doc)
      (setq n (sslength ss)
            i 0
      )
      (while (< i n)
        (vla-put-Height (vlax-ename->vla-object (ssname ss i)) height)
        (setq i (1+ i))
      )
      (vla-EndUndoMark doc)
      (princ (strcat "\n" (itoa n) " 个文字的高度改为 " (rtos height 2 2) "。"))
    )
    (princ "\n没有选择文字。")
  )
  (princ)
)

(princ "\nTXTH 已加载：输入 TXTH 统一文字高度。")
(princ)
