;; expect: wrong-arity
(defun c:R ()
  (repeat)
  (princ)
)
