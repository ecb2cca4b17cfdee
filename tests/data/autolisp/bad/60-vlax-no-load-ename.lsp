;; expect: missing-vl-load-com
(defun c:COLOR1 (/ e)
  (if (setq e (car (entsel)))
    (vla-put-Color (vlax-ename->vla-object e) 1))
  (princ)
)
