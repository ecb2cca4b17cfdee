;;; cc.lsp -- CC：把所选对象的颜色统一改为指定颜色或随层
;;; 用法：加载后输入 CC，选择对象，在颜色对话框中选颜色（“随层”“随块”也在对话框中），
;;; 取消对话框则不修改。锁定图层上的对象不会被选中。

(vl-load-com)

(defun c:CC (/ *error* doc ss color i n)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (princ "\n选择要改颜色的对象：")
  (if (setq ss (ssget "_:L"))
    (if (setq color (acad_colordlg 256 T))
      (progn
        (vla-StartUndoMark doc)
        (setq n (sslength ss)
              i 0
        )
        (while (< i n)
          (vla-put-Color (vlax-ename->vla-object (ssname ss i)) color)
          (setq i (1+ i))
        )
        (vla-EndUndoMark doc)
        (princ (strcat "\n" (itoa n) " 个对象的颜色改为 "
                       (cond ((= color 256) "随层")
                             ((= color 0) "随块")
                             (T (itoa color))
                       )
                       "。"
               )
        )
      )
      (princ "\n已取消，颜色未改。")
    )
    (princ "\n没有选择对象。")
  )
  (princ)
)

(princ "\nCC 已加载：输入 CC 批量改颜色。")
(princ)
