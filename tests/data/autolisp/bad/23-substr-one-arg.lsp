;; expect: wrong-arity
(defun c:FIRST (/ s)
  (setq s (getstring "\nText: "))
  (princ (substr s))
  (princ)
)
