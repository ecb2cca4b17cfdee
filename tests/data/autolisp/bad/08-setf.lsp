;; expect: common-lisp
(defun c:INC (/ n)
  (setq n 0)
  (setf n (+ n 1))
  (princ n)
  (princ)
)
