;| An older version, kept for reference:
(defun c:OLDNUM ()
  (command "_.TEXT" pause 2.5 0
|;
;; Place increasing numbers at picked points.
(defun c:NUMPT (/ n pt h)
  (setq n (cond ((getint "\nStart number <1>: ")) (1)))
  (setq h (getvar "TEXTSIZE"))
  (while (setq pt (getpoint "\nPoint: "))
    (entmake (list '(0 . "TEXT") (cons 10 pt) (cons 40 h) (cons 1 (itoa n))))
    (setq n (1+ n))
  )
  (princ)
)
