;; expect: misspelled-builtin
(defun c:OS0 ()
  (setvra "OSMODE" 0)
  (princ)
)
