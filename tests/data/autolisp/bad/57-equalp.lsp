;; expect: common-lisp
(defun c:SAME (/ a b)
  (setq a (getpoint) b (getpoint))
  (if (equalp a b) (princ "\nsame"))
  (princ)
)
