;; Write the contents of every TEXT and MTEXT to a CSV file next to the drawing.
(defun c:TXTOUT (/ fname f ss i ed)
  (setq fname (strcat (getvar "DWGPREFIX") (vl-filename-base (getvar "DWGNAME")) "-text.csv"))
  (if (and (setq ss (ssget "_X" '((0 . "TEXT,MTEXT"))))
           (setq f (open fname "w")))
    (progn
      (write-line "x,y,text" f)
      (setq i 0)
      (repeat (sslength ss)
        (setq ed (entget (ssname ss i)))
        (write-line
          (strcat (rtos (car (cdr (assoc 10 ed))) 2 3) ","
                  (rtos (cadr (cdr (assoc 10 ed))) 2 3) ",\""
                  (cdr (assoc 1 ed)) "\"")
          f)
        (setq i (1+ i))
      )
      (close f)
      (princ (strcat "\nWritten " fname))
    )
    (princ "\nNo text found or the file cannot be written.")
  )
  (princ)
)
