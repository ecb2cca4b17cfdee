;; expect: missing-vl-load-com
(defun c:LEN (/ e)
  (if (setq e (car (entsel)))
    (princ (rtos (vlax-curve-getDistAtParam e (vlax-curve-getEndParam e)) 2 3)))
  (princ)
)
