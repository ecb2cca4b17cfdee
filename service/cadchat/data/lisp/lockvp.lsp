;;; lockvp.lsp -- LOCKVP：批量锁定或解锁所有布局中的视口
;;; 用法：加载后输入 LOCKVP，选择锁定（默认）或解锁；全部布局里的浮动视口一次处理，
;;; 锁定后在视口内缩放平移不会改变视口比例。

(vl-load-com)

(defun c:LOCKVP (/ doc mode flag count)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (initget "Lock Unlock")
  (setq mode (getkword "\n[锁定(L)/解锁(U)] 所有视口 <L>: "))
  (if (not mode) (setq mode "Lock"))
  (setq flag  (if (= mode "Lock") :vlax-true :vlax-false)
        count 0
  )
  (vlax-for layout (vla-get-Layouts doc)
    (if (= :vlax-false (vla-get-ModelType layout))
      (vlax-for obj (vla-get-Block layout)
        ;; 每个布局的第一个视口（视口号 1）是图纸空间本身，不是浮动视口
        (if (and (= (vla-get-ObjectName obj) "AcDbViewport")
                 (/= 1 (cdr (assoc 69 (entget (vlax-vla-object->ename obj)))))
                 (not (vl-catch-all-error-p (vl-catch-all-apply 'vla-put-DisplayLocked (list obj flag))))
            )
          (setq count (1+ count))
        )
      )
    )
  )
  (princ (strcat "\n" (if (= mode "Lock") "锁定" "解锁") "了 " (itoa count) " 个视口。"))
  (princ)
)

(princ "\nLOCKVP 已加载：输入 LOCKVP 批量锁定或解锁视口。")
(princ)
