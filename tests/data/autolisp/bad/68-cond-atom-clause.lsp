;; expect: bad-special-form
(defun c:SIGN (/ n)
  (setq n (getreal "\nValue: "))
  (cond ((minusp n) (princ "\nnegative"))
        ((zerop n) (princ "\nzero"))
        "positive")
  (princ)
)
