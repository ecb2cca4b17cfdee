;;; plw.lsp -- PLW：统一设置多段线的全局宽度
;;; 用法：加载后输入 PLW，选择多段线（三维多段线和网格会被排除），输入新的全局宽度。

(vl-load-com)

(defun c:PLW (/ *error* doc ss width i n)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (princ "\n选择多段线：")
  ;; 排除三维多段线(8)、多边形网格(16)和多面网格(64)：它们没有宽度
  (if (setq ss (ssget "_:L"
                      '((0 . "LWPOLYLINE,POLYLINE") (-4 . "<NOT") (-4 . "&") (70 . 88) (-4 . "NOT>"))
               )
      )
    (progn
      (initget 5)
      (setq width (getdist "\n新的全局宽度: "))
      (vla-StartUndoMark doc)
      (setq n (sslength ss)
            i 0
      )
      (while (< i n)
        (vla-put-ConstantWidth (vlax-ename->vla-object (ssname ss i)) width)
        (setq i (1+ i))
      )
      (vla-EndUndoMark doc)
      (princ (strcat "\n" (itoa n) " 条多段线的宽度改为 " (rtos width 2 2) "。"))
    )
    (princ "\n没有选择多段线。")
  )
  (princ)
)

(princ "\nPLW 已加载：输入 PLW 统一多段线线宽。")
(princ)
