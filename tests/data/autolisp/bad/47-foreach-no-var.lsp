;; expect: bad-special-form
(defun c:FE (/ lst)
  (setq lst '(1 2 3))
  (foreach (princ x) lst)
  (princ)
)
