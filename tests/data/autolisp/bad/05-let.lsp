;; expect: common-lisp
(defun c:AREA2 (/ ent)
  (setq ent (car (entsel)))
  (let ((a (vlax-curve-getArea ent)))
    (princ (rtos a 2 2)))
  (princ)
)
(vl-load-com)
