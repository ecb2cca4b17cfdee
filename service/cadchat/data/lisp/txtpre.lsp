;;; txtpre.lsp -- TXTPRE：批量给文字添加前缀和（或）后缀
;;; 用法：加载后输入 TXTPRE，输入前缀、后缀（可含空格，回车表示不加），选择单行或多行文字。

(vl-load-com)

(defun c:TXTPRE (/ *error* doc prefix suffix ss i n obj)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (setq prefix (getstring T "\n前缀 <不加>: ")
        suffix (getstring T "\n后缀 <不加>: ")
  )
  (if (and (= prefix "") (= suffix ""))
    (princ "\n前缀和后缀都为空，未做修改。")
    (progn
      (princ "\n选择要添加前后缀的文字：")
      (if (setq ss (ssget "_:L" '((0 . "TEXT,MTEXT"))))
        (progn
          (vla-StartUndoMark doc)
          (setq n (sslength ss)
                i 0
          )
          (while (< i n)
            (setq obj (vlax-ename->vla-object (ssname ss i)))
            (vla-put-TextString obj (strcat prefix (vla-get-TextString obj) suffix))
            (setq i (1+ i))
          )
          (vla-EndUndoMark doc)
          (princ (strcat "\n修改了 " (itoa n) " 个文字。"))
        )
        (princ "\n没有选择文字。")
      )
    )
  )
  (princ)
)

(princ "\nTXTPRE 已加载：输入 TXTPRE 给文字批量加前后缀。")
(princ)
