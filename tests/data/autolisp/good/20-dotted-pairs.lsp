;; Draw a red line on layer WALL between two points.
(defun c:REDLINE (/ p1 p2)
  (setq p1 (getpoint "\nFrom: ")
        p2 (getpoint p1 "\nTo: "))
  (if (and p1 p2)
    (entmakex (list '(0 . "LINE") '(8 . "WALL") '(62 . 1) (cons 10 p1) (cons 11 p2)))
  )
  (princ)
)
