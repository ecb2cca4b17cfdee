;; expect: common-lisp
(defun c:N (/ n)
  (setq n 0)
  (repeat 5 (incf n))
  (princ n)
  (princ)
)
