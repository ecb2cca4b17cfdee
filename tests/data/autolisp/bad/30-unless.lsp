;; expect: common-lisp
(defun c:U (/ ss)
  (setq ss (ssget))
  (unless ss (princ "\nnothing"))
  (princ)
)
