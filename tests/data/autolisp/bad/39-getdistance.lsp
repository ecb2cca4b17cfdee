;; expect: unknown-function
(defun c:D (/ d)
  (setq d (getdistance "\nDistance: "))
  (princ d)
  (princ)
)
