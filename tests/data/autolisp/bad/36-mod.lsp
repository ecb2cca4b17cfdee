;; expect: common-lisp
(defun c:EVEN (/ n)
  (setq n (getint))
  (if (= 0 (mod n 2)) (princ "\neven") (princ "\nodd"))
  (princ)
)
