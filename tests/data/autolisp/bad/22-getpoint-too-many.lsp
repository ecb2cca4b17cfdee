;; expect: wrong-arity
(defun c:P2 (/ p)
  (setq p (getpoint nil "\nPoint: " 1))
  (princ)
)
