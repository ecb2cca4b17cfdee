(defun c:SELREDCIR (/ ss)
  (setq ss (ssget "_X" '((-4 . "<AND") (0 . "CIRCLE") (-4 . "<OR") (62 . 1) (8 . "RED*") (-4 . "OR>") (-4 . "AND>"))))
  (if ss
    (progn (sssetfirst nil ss) (princ (strcat "\n" (itoa (sslength ss)) " circles selected.")))
    (princ "\nNone found.")
  )
  (princ)
)
