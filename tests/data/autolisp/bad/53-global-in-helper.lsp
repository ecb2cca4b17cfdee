;; expect: undeclared-local
(defun half (x / )
  (setq result (/ x 2.0))
  result
)
(defun c:H () (princ (half 10)) (princ))
