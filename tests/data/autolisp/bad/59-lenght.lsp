;; expect: misspelled-builtin
(defun c:LN (/ lst)
  (setq lst '(1 2 3))
  (princ (lenght lst))
  (princ)
)
