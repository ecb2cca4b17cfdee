;; *MYSCALE* is set by another program (or the user) and read here.
(defun c:SCALEDCIRCLE (/ pt)
  (if (not *MYSCALE*) (setq *MYSCALE* 1.0))
  (if (setq pt (getpoint "\nCentre: "))
    (command "_.CIRCLE" pt (* 5.0 *MYSCALE*))
  )
  (princ)
)
