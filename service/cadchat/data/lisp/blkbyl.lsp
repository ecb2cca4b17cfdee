;;; blkbyl.lsp -- BLKBYL：把块内对象改到 0 层，颜色、线型、线宽设为随块
;;; 用法：加载后输入 BLKBYL，选择块参照。所选块（含其中嵌套的块）的定义里全部对象
;;; 改到 0 层、颜色 ByBlock、线型 ByBlock、线宽 ByBlock；之后块参照的图层和颜色
;;; 决定块的显示（解决“块颜色改不了”）。外部参照不处理。

(vl-load-com)

(defun blkbyl-props (obj)
  ;; 对象改到 0 层，颜色、线型、线宽随块。
  (vla-put-Layer obj "0")
  (vla-put-Color obj acByBlock)
  (vla-put-Linetype obj "ByBlock")
  (vla-put-Lineweight obj acLnWtByBlock)
)

(defun blkbyl-fix (blocks name done / def)
  ;; 处理块定义 NAME 及其嵌套块；DONE 为已处理的块名列表，返回更新后的列表。
  (setq def (vla-Item blocks name))
  (if (and (not (member name done)) (= :vlax-false (vla-get-IsXRef def)))
    (progn
      (setq done (cons name done))
      (vlax-for obj def
        ;; 块内对象所在图层被锁定时改不了，跳过该对象，其余照常处理
        (vl-catch-all-apply 'blkbyl-props (list obj))
        (if (= (vla-get-ObjectName obj) "AcDbBlockReference")
          (setq done (blkbyl-fix blocks (vla-get-Name obj) done))
        )
      )
    )
  )
  done
)

(defun c:BLKBYL (/ *error* doc blocks ss i obj done)
  (setq doc    (vla-get-ActiveDocument (vlax-get-acad-object))
        blocks (vla-get-Blocks doc)
  )
  (defun *error* (msg)
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (princ "\n选择块：")
  (if (setq ss (ssget '((0 . "INSERT"))))
    (progn
      (vla-StartUndoMark doc)
      (setq i 0)
      (while (< i (sslength ss))
        (setq obj  (vlax-ename->vla-object (ssname ss i))
              done (blkbyl-fix blocks (vla-get-Name obj) done)
              i    (1+ i)
        )
        ;; 动态块的参照指向匿名定义，同时处理它的原始定义
        (setq done (blkbyl-fix blocks (vla-get-EffectiveName obj) done))
      )
      (vla-Regen doc acAllViewports)
      (vla-EndUndoMark doc)
      (princ (strcat "\n处理了 " (itoa (length done)) " 个块定义。"))
    )
    (princ "\n没有选择块。")
  )
  (princ)
)

(princ "\nBLKBYL 已加载：输入 BLKBYL 把块内对象改为 0 层随块。")
(princ)
