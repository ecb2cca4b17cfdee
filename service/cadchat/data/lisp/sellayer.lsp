;;; sellayer.lsp -- SELLAYER：选择与所选对象同一图层的全部对象
;;; 用法：加载后输入 SELLAYER，选择一个或几个样例对象；当前空间（模型或当前布局）中
;;; 这些图层上的全部对象被选中并亮显夹点，可直接接着执行删除、移动、复制等命令。

(defun sellayer-escape (name / i ch out)
  ;; 把图层名中的通配符（# @ . * ? ~ [ ] - , `）用反引号转义，供 ssget 过滤使用。
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

(defun c:SELLAYER (/ samples layers i name filter ss)
  (princ "\n选择样例对象（取其图层）：")
  (if (setq samples (ssget))
    (progn
      (setq i 0)
      (while (< i (sslength samples))
        (setq name (cdr (assoc 8 (entget (ssname samples i)))))
        (if (not (member name layers))
          (setq layers (cons name layers))
        )
        (setq i (1+ i))
      )
      (setq filter (sellayer-escape (car layers)))
      (foreach name (cdr layers)
        (setq filter (strcat filter "," (sellayer-escape name)))
      )
      (if (setq ss (ssget "_X" (list (cons 8 filter) (cons 410 (getvar "CTAB")))))
        (progn
          (sssetfirst nil ss)
          (princ (strcat "\n图层 " (vl-princ-to-string (reverse layers))
                         " 上共选中 " (itoa (sslength ss)) " 个对象。"
                 )
          )
        )
        (princ "\n当前空间中这些图层上没有对象。")
      )
    )
    (princ "\n没有选择对象。")
  )
  (princ)
)

(princ "\nSELLAYER 已加载：输入 SELLAYER 选择同层对象。")
(princ)
