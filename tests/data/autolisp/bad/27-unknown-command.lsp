;; expect: unknown-command
(defun c:MKWALL (/ p1 p2)
  (setq p1 (getpoint) p2 (getpoint p1))
  (command "_.WALLLINE" p1 p2 "")
  (princ)
)
