;; expect: common-lisp
(defun c:XY (/ p)
  (setq p (getpoint))
  (princ (strcat (rtos (first p)) "," (rtos (second p))))
  (princ)
)
