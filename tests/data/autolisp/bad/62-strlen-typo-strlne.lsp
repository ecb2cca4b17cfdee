;; expect: misspelled-builtin
(defun c:SL (/ s)
  (setq s (getstring))
  (princ (strlne s))
  (princ)
)
