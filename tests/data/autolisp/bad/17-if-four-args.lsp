;; expect: wrong-arity
(defun c:CHK (/ n)
  (setq n (getint "\nNumber: "))
  (if (> n 0)
    (princ "\npositive")
    (princ "\nzero")
    (princ "\nnegative"))
  (princ)
)
