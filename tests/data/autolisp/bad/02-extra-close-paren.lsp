;; expect: stray-paren
(defun c:HELLO ()
  (princ "\nHello"))
  (princ)
)
