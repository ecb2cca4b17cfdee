;;; bbase.lsp -- BBASE：不炸开块，直接修改块定义的基点
;;; 用法：加载后输入 BBASE，点选一个块参照，再指定新的基点（可用对象捕捉）。
;;; 块定义的基点移到该点，图中该块的所有参照随之平移补偿，看上去位置都不变。
;;; 动态块和外部参照不处理。适用于法线为 Z 轴的块参照（一般的二维图）。

(vl-load-com)

(defun bbase-rotate (v ang)
  ;; 二维向量 V 绕原点旋转 ANG 弧度。
  (list (- (* (car v) (cos ang)) (* (cadr v) (sin ang)))
        (+ (* (car v) (sin ang)) (* (cadr v) (cos ang)))
        0.0
  )
)

(defun bbase-escape (name / i ch out)
  ;; 把名称中的通配符（# @ . * ? ~ [ ] - , `）用反引号转义，供 ssget 过滤使用。
  (setq out ""
        i   1
  )
  (while (<= i (strlen name))
    (setq ch  (substr name i 1)
          out (strcat out (if (vl-string-search ch "#@.*?~[]-,`") "`" "") ch)
          i   (1+ i)
    )
  )
  out
)

(defun c:BBASE (/ *error* doc sel ref name pt ins local origin delta def ss i obj shift locked)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (setq sel (entsel "\n选择块: "))
  (cond
    ((not sel) (princ "\n没有选择对象。"))
    ((/= (cdr (assoc 0 (entget (car sel)))) "INSERT") (princ "\n所选对象不是块。"))
    ((= :vlax-true (vla-get-IsDynamicBlock (setq ref (vlax-ename->vla-object (car sel)))))
     (princ "\n动态块请在块编辑器中修改基点。")
    )
    ((= :vlax-true (vla-get-IsXRef (vla-Item (vla-get-Blocks doc) (vla-get-Name ref))))
     (princ "\n外部参照请在源图形中用 BASE 命令修改基点。")
    )
    ((setq pt (getpoint "\n指定新的基点: "))
     (setq name   (vla-get-Name ref)
           def    (vla-Item (vla-get-Blocks doc) name)
           ins    (vlax-safearray->list (vlax-variant-value (vla-get-InsertionPoint ref)))
           origin (vlax-safearray->list (vlax-variant-value (vla-get-Origin def)))
           ;; 新基点在块定义坐标系中的位置：先平移、再反旋转、再除以比例
           local  (bbase-rotate (mapcar '- (trans pt 1 0) ins) (- (vla-get-Rotation ref)))
           local  (list (+ (car origin) (/ (car local) (vla-get-XScaleFactor ref)))
                        (+ (cadr origin) (/ (cadr local) (vla-get-YScaleFactor ref)))
                        (caddr origin)
                  )
           delta  (mapcar '- local origin)
     )
     (vla-StartUndoMark doc)
     (vla-put-Origin def (vlax-3d-point local))
     ;; 每个参照按自己的比例和旋转平移，抵消基点的变化
     (if (setq ss (ssget "_X" (list '(0 . "INSERT") (cons 2 (bbase-escape name)))))
       (progn
         (setq i 0)
         (while (< i (sslength ss))
           (setq obj   (vlax-ename->vla-object (ssname ss i))
                 shift (bbase-rotate (list (* (car delta) (vla-get-XScaleFactor obj))
                                           (* (cadr delta) (vla-get-YScaleFactor obj))
                                     )
                                     (vla-get-Rotation obj)
                       )
           )
           ;; 锁定图层上的参照不能移动：记下个数，其余照常处理
           (if (vl-catch-all-error-p
                 (vl-catch-all-apply 'vla-Move (list obj (vlax-3d-point '(0.0 0.0 0.0)) (vlax-3d-point shift)))
               )
             (setq locked (cons (vla-get-Handle obj) locked))
           )
           (setq i (1+ i))
         )
       )
     )
     (vla-Regen doc acAllViewports)
     (vla-EndUndoMark doc)
     (princ (strcat "\n块 " name " 的基点已修改。"))
     (if locked
       (princ (strcat "\n有 " (itoa (length locked)) " 个参照在锁定图层上，未能平移，位置会偏移。"))
     )
    )
  )
  (princ)
)

(princ "\nBBASE 已加载：输入 BBASE 修改块基点。")
(princ)
