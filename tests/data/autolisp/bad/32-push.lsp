;; expect: common-lisp
(defun c:L (/ lst e)
  (while (setq e (car (entsel)))
    (push e lst))
  (princ (length lst))
  (princ)
)
