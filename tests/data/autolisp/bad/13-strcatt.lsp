;; expect: misspelled-builtin
(defun c:GREET (/ n)
  (setq n (getstring "\nName: "))
  (princ (strcatt "\nHello " n))
  (princ)
)
