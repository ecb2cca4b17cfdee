;; expect: common-lisp
(defun c:W (/ p)
  (setq p (getpoint))
  (when p (command "_.POINT" p))
  (princ)
)
