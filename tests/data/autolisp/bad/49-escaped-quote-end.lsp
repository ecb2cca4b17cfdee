;; expect: unclosed-string
(defun c:PATH ()
  (princ "C:\Temp\")
  (princ)
)
