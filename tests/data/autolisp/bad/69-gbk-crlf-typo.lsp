;; expect: misspelled-builtin
(defun c:标注 (/ 点)
  (setq 点 (getpiont "\n位置: "))
  (command "_.TEXT" 点 2.5 0 "标注")
  (princ)
)
