;; expect: not-a-function
(defun c:TRI (/ pts)
  (setq pts ((0 0) (100 0) (50 80)))
  (command "_.PLINE" (car pts) (cadr pts) (caddr pts) "_C")
  (princ)
)
