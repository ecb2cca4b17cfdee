;;; ll.lsp -- LL：把所选对象一次改到指定图层
;;; 用法：加载后输入 LL，选择要改图层的对象，再点选一个目标图层上的对象，
;;; 或输入 N 后键入图层名（图层不存在时自动新建）。锁定图层上的对象不会被选中。

(vl-load-com)

(defun c:LL (/ *error* doc ss sel layer i n)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (princ "\n选择要改图层的对象：")
  (if (setq ss (ssget "_:L"))
    (progn
      (initget "N")
      (setq sel (entsel "\n点选目标图层上的对象或 [输入图层名(N)] <N>: "))
      (cond
        ((or (not sel) (= sel "N"))
         (setq layer (getstring T (strcat "\n目标图层名 <" (getvar "CLAYER") ">: ")))
         (if (= layer "") (setq layer (getvar "CLAYER")))
        )
        (T (setq layer (cdr (assoc 8 (entget (car sel))))))
      )
      (cond
        ((not (snvalid layer)) (princ (strcat "\n图层名无效: " layer)))
        (T
         (if (not (tblsearch "LAYER" layer))
           (progn
             (vla-Add (vla-get-Layers doc) layer)
             (princ (strcat "\n已新建图层 " layer "。"))
           )
         )
         (vla-StartUndoMark doc)
         (setq n (sslength ss)
               i 0
         )
         (while (< i n)
           (vla-put-Layer (vlax-ename->vla-object (ssname ss i)) layer)
           (setq i (1+ i))
         )
         (vla-EndUndoMark doc)
         (princ (strcat "\n" (itoa n) " 个对象改到图层 " layer "。"))
        )
      )
    )
    (princ "\n没有选择对象。")
  )
  (princ)
)

(princ "\nLL 已加载：输入 LL 批量改图层。")
(princ)
