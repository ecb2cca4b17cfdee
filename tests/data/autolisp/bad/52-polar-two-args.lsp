;; expect: wrong-arity
(defun c:PL (/ p)
  (setq p (getpoint))
  (command "_.LINE" p (polar p 10.0) "")
  (princ)
)
