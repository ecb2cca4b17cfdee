;;; blkrename.lsp -- BLKRENAME：点选块参照，直接重命名它的块定义
;;; 用法：加载后输入 BLKRENAME，点选一个块，输入新块名。图中该块的所有参照随之改名。
;;; 动态块按其真实名称（有效名）改名；外部参照和匿名块不能用此命令改名。

(vl-load-com)

(defun c:BLKRENAME (/ doc sel obj old new blocks)
  (setq doc    (vla-get-ActiveDocument (vlax-get-acad-object))
        blocks (vla-get-Blocks doc)
  )
  (setq sel (entsel "\n选择要改名的块: "))
  (cond
    ((not sel) (princ "\n没有选择对象。"))
    ((/= (cdr (assoc 0 (entget (car sel)))) "INSERT") (princ "\n所选对象不是块。"))
    (T
     (setq obj (vlax-ename->vla-object (car sel))
           old (vla-get-EffectiveName obj)
     )
     (cond
       ((= :vlax-true (vla-get-IsXRef (vla-Item blocks old)))
        (princ "\n外部参照请用 XREF 选项板改名。")
       )
       ((wcmatch old "`**") (princ "\n匿名块不能改名。"))
       (T
        (setq new (getstring T (strcat "\n块 " old " 的新名称: ")))
        (cond
          ((= new "") (princ "\n未输入新名称，块名未改。"))
          ((not (snvalid new)) (princ (strcat "\n块名无效: " new)))
          ((tblsearch "BLOCK" new) (princ (strcat "\n块名 " new " 已存在。")))
          (T
           (vla-put-Name (vla-Item blocks old) new)
           (princ (strcat "\n块 " old " 已改名为 " new "。"))
          )
        )
       )
     )
    )
  )
  (princ)
)

(princ "\nBLKRENAME 已加载：输入 BLKRENAME 点选块改名。")
(princ)
