;; expect: common-lisp
(defun c:CLS (/ n)
  (setq n (getint "\nNumber: "))
  (cond
    ((= n 1) (princ "\none"))
    (else (princ "\nother")))
  (princ)
)
