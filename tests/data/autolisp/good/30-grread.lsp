;; Follow the cursor and show its coordinates until a click.
(defun c:TRACKXY (/ gr done)
  (while (not done)
    (setq gr (grread T 15 0))
    (cond
      ((= 5 (car gr))
       (grtext -1 (strcat (rtos (car (cadr gr)) 2 2) "," (rtos (cadr (cadr gr)) 2 2))))
      ((= 3 (car gr)) (setq done T))
      ((member (car gr) '(2 11 12 25)) (setq done T))
    )
  )
  (grtext)
  (princ)
)
