;; expect: wrong-arity
(defun c:GRADE (/ n)
  (setq n (getint))
  (if (> n 90) (princ "A") (> n 80) (princ "B"))
  (princ)
)
