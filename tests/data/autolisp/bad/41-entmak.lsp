;; expect: misspelled-builtin
(defun c:C (/ p)
  (setq p (getpoint))
  (entmak (list '(0 . "CIRCLE") (cons 10 p) '(40 . 5.0)))
  (princ)
)
