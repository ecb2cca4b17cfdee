;; Print the vertices of a lightweight polyline.
(defun c:PLVERT (/ ent ed)
  (if (and (setq ent (car (entsel "\nPolyline: ")))
           (= "LWPOLYLINE" (cdr (assoc 0 (setq ed (entget ent))))))
    (foreach pair ed
      (if (= 10 (car pair))
        (princ (strcat "\n" (rtos (cadr pair) 2 3) ", " (rtos (caddr pair) 2 3)))
      )
    )
    (princ "\nNot a lightweight polyline.")
  )
  (princ)
)
