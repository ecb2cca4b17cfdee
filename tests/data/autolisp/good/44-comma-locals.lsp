;; A comma in the locals list, as found in old programs.
(defun c:PTCOUNT (/ ss, n)
  (setq n 0)
  (if (setq ss (ssget "_X" '((0 . "POINT"))))
    (setq n (sslength ss))
  )
  (princ (strcat "\nPoints: " (itoa n)))
  (princ)
)
