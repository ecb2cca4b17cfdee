;; expect: unclosed-string
(defun c:MSG ()
  (alert "Done!)
  (princ)
)
